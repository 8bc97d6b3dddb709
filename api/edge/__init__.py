"""What clients send and get: API keys, limits, strict JSON, headers, the request log, the OpenAPI
document and the request-input helpers the resources use."""
