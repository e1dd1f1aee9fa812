"""The GPUs of this host and what they will hold: NVML readings as plain values, and the capacity planner.

`nvml` is the one module that talks to the NVIDIA driver (through `nvidia-ml-py`, imported lazily); everything
else here is pure: `values` (what NVML told), `selection` (which GPUs `host.gpus` picks), `model_facts` (the
served model's architecture), `capacity` (the planner's formulas, docs/doctor.md).
"""
