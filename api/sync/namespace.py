"""A principal's view of a shared database: its id prefix added on the way in, removed on the way out.

For a user (or a key) with an id prefix, `doc1` is `u:alice:doc1` upstream and `doc1` again in every
answer, so an app written for a database of its own replicates unchanged. `_local` ids (replication
checkpoints) are kept apart per principal. Nothing names an id outside the principal's part: such
ids are not theirs to write (`forbidden`) and do not exist for them (`not_found`).
"""

from __future__ import annotations

import dataclasses

from api.edge.request_input import MAX_ID_LENGTH
from api.errors import Problem

LOCAL = '_local/'


@dataclasses.dataclass(frozen=True)
class Namespace:
    """The ids one principal sees; prefix '' sees the database as it is (design documents aside)."""

    prefix: str
    local_prefix: str  # what keeps this principal's `_local` ids apart from everyone else's

    @classmethod
    def of(cls, key) -> Namespace:
        """The namespace of a request's key or signed-in user (None: anonymous reads)."""
        if key is None:
            return cls('', 'anonymous:')
        prefix = key.id_prefix or ''
        return cls(prefix, prefix or f'key:{key.name}:')

    def inward(self, doc_id: object) -> str | None:
        """The id upstream of an id the client names; None for one that is not the principal's to use
        (not a string, a `_design/` or other reserved id)."""
        if not isinstance(doc_id, str) or not doc_id or doc_id.startswith('_') or len(doc_id) > MAX_ID_LENGTH:
            return None
        return self.prefix + doc_id

    def outward(self, doc_id: str) -> str | None:
        """The id the client sees of an id upstream; None for one outside the principal's part."""
        if not doc_id.startswith(self.prefix) or doc_id.startswith('_'):
            return None
        return doc_id[len(self.prefix) :]

    def local(self, name: str) -> str:
        """The upstream name (after `_local/`) of the principal's `_local/<name>`."""
        if len(name) > MAX_ID_LENGTH:
            raise Problem(
                400, 'invalid-parameter', f'A checkpoint id has at most {MAX_ID_LENGTH} characters.'
            )
        return self.local_prefix + name

    def required(self, doc_id: object) -> str:
        """`inward`, or the 404 of a document that does not exist (nothing told of others' ids)."""
        inner = self.inward(doc_id)
        if inner is None:
            raise Problem(404, 'not-found', 'No document with this id.')
        return inner

    def doc_in(self, doc: object) -> dict | None:
        """A client's document with its id upstream; None if it names no id of the principal's."""
        if not isinstance(doc, dict):
            return None
        inner = self.inward(doc.get('_id'))
        return None if inner is None else dict(doc, _id=inner)

    def doc_out(self, doc: object) -> object:
        """A document from upstream with the id the client knows (anything else as it is)."""
        if isinstance(doc, dict) and isinstance(doc.get('_id'), str):
            outer = self.outward(doc['_id'])
            if outer is not None:
                return dict(doc, _id=outer)
        return doc
