"""TGI's route handlers: `native` (/generate, /generate_stream, /, /tokenize), `openai` (chat, /chat_tokenize,
/v1/models) and `completions`. They share helpers from the modules beside this package, never one another."""
