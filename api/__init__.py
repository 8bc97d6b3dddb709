"""couchgate: a Falcon REST API over one pooled Cloudant session per worker."""
