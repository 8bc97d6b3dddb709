"""Replication for PouchDB and CouchDB: a principal's ids mapped in and out, in CouchDB's own shapes."""
