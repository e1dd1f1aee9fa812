"""`TheBloke/Mistral-7B-Instruct-v0.2-AWQ` as the stand-in serves it: the real file names, real small files.

Real: the file names and storage (LFS for `model.safetensors` and `tokenizer.model`) of the Hub's tree,
`tokenizer.model` (the SentencePiece model shipped in mistral-common, 493,443 bytes like the Hub's), the values
of `quant_config.json` and `generation_config.json`, and the architecture values in `config.json` (upstream
v0.2: 32 layers, hidden 4096, 8 KV heads, 32,768 positions, rope_theta 1e6, no sliding window) with the AWQ
`quantization_config` block TheBloke's AWQ repos carry. Stand-ins: `model.safetensors` is a small valid
safetensors file of toy AWQ tensors, `tokenizer.json` is built from the SentencePiece model, README is short.
"""

from __future__ import annotations

import json

from orchestrator.emulator.hub.repo import HubRepo, RepoFile
from orchestrator.emulator.hub.safetensors_file import awq_layer_tensors, safetensors_bytes
from orchestrator.emulator.hub.tokenizer_json import tokenizer_json
from orchestrator.tokens import model_file

__all__ = ["MISTRAL_AWQ", "mistral_awq_files", "mistral_awq_repo"]

MISTRAL_AWQ = "TheBloke/Mistral-7B-Instruct-v0.2-AWQ"

CONFIG = {
    "_name_or_path": "/workspace/process/mistralai_mistral-7b-instruct-v0.2/source",
    "architectures": ["MistralForCausalLM"],
    "attention_dropout": 0.0,
    "bos_token_id": 1,
    "eos_token_id": 2,
    "hidden_act": "silu",
    "hidden_size": 4096,
    "initializer_range": 0.02,
    "intermediate_size": 14336,
    "max_position_embeddings": 32768,
    "model_type": "mistral",
    "num_attention_heads": 32,
    "num_hidden_layers": 32,
    "num_key_value_heads": 8,
    "pretraining_tp": 1,
    "quantization_config": {
        "bits": 4,
        "group_size": 128,
        "quant_method": "awq",
        "version": "gemm",
        "zero_point": True,
    },
    "rms_norm_eps": 1e-05,
    "rope_theta": 1000000.0,
    "sliding_window": None,
    "tie_word_embeddings": False,
    "torch_dtype": "float16",
    "transformers_version": "4.36.0",
    "use_cache": True,
    "vocab_size": 32000,
}
QUANT_CONFIG = {
    "zero_point": True,
    "q_group_size": 128,
    "w_bit": 4,
    "version": "GEMM",
    "modules_to_not_convert": [],
}
GENERATION_CONFIG = {
    "_from_model_config": True,
    "bos_token_id": 1,
    "eos_token_id": 2,
    "transformers_version": "4.36.0",
}
SPECIAL_TOKENS_MAP = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}"
    "{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}"
)


def _added(token_id: int, text: str) -> dict[str, object]:
    return {
        "content": text,
        "lstrip": False,
        "normalized": False,
        "rstrip": False,
        "single_word": False,
        "special": True,
    }


TOKENIZER_CONFIG = {
    "add_bos_token": True,
    "add_eos_token": False,
    "added_tokens_decoder": {str(i): _added(i, t) for i, t in enumerate(("<unk>", "<s>", "</s>"))},
    "additional_special_tokens": [],
    "bos_token": "<s>",
    "chat_template": CHAT_TEMPLATE,
    "clean_up_tokenization_spaces": False,
    "eos_token": "</s>",
    "legacy": True,
    "model_max_length": 1000000000000000019884624838656,
    "pad_token": None,
    "sp_model_kwargs": {},
    "spaces_between_special_tokens": False,
    "tokenizer_class": "LlamaTokenizer",
    "unk_token": "<unk>",
    "use_default_system_prompt": False,
}
GITATTRIBUTES = "".join(
    f"*.{ext} filter=lfs diff=lfs merge=lfs -text\n"
    for ext in ("bin", "model", "safetensors", "pt", "pth", "h5", "onnx", "msgpack", "ot", "tflite", "zip")
)
README = f"""---
base_model: mistralai/Mistral-7B-Instruct-v0.2
license: apache-2.0
model_name: Mistral 7B Instruct v0.2
model_type: mistral
quantized_by: TheBloke
---
# Mistral 7B Instruct v0.2 - AWQ (Hub stand-in copy)

4-bit AWQ (group size 128, GEMM). Served by the tgi-orchestrator Hub stand-in: {MISTRAL_AWQ}.
"""


def _json(value: object) -> bytes:
    return (json.dumps(value, indent=2) + "\n").encode()


def mistral_awq_files(*, weights: bytes | None = None) -> list[RepoFile]:
    """The repository's ten files; `weights` replaces the toy `model.safetensors` content."""
    return [
        RepoFile(".gitattributes", GITATTRIBUTES.encode()),
        RepoFile("README.md", README.encode()),
        RepoFile("config.json", _json(CONFIG)),
        RepoFile("generation_config.json", _json(GENERATION_CONFIG)),
        RepoFile(
            "model.safetensors",
            weights if weights is not None else safetensors_bytes(awq_layer_tensors()),
            lfs=True,
        ),
        RepoFile("quant_config.json", _json(QUANT_CONFIG)),
        RepoFile("special_tokens_map.json", _json(SPECIAL_TOKENS_MAP)),
        RepoFile("tokenizer.json", tokenizer_json(model_file())),
        RepoFile("tokenizer.model", model_file().read_bytes(), lfs=True),
        RepoFile("tokenizer_config.json", _json(TOKENIZER_CONFIG)),
    ]


def mistral_awq_repo(*, gated: str | None = None, granted: set[str] | None = None) -> HubRepo:
    """The model's repository with one commit on `main` ("AWQ model commit")."""
    repo = HubRepo(MISTRAL_AWQ, gated=gated, granted=set(granted or ()))
    repo.commit(mistral_awq_files(), message="AWQ model commit")
    return repo
