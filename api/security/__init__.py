"""Who may call what: hashed API keys with scopes, per-key rate limits, CORS for a key's origins."""
