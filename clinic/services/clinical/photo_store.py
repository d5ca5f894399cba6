"""Where photo bytes live: a small interface, the database by default.

The database store keeps each image in `stored_blobs`, inside the caller's transaction, so every
app server of a chain sees a photo as soon as it is committed and a database backup holds it.
Object storage (S3 or the like) plugs in by naming a factory in the `PHOTO_STORE` setting,
`"package.module:factory"`: a callable taking the app's config and returning an object with
`put`, `get` and `delete` (`PhotoStore`). Keys are opaque strings the services make; photos are
never written under the web root, and only `services/clinical/photos.py` reads them, for a
route that has checked who may see them.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import Protocol

from flask import current_app
from sqlalchemy import delete, select

from clinic.models import StoredBlob
from clinic.services.core.db import db_session

_KEY = "clinic.photo_store"


class PhotoStore(Protocol):
    def put(self, key: str, data: bytes) -> None: ...

    def get(self, key: str) -> bytes | None: ...

    def delete(self, keys: Iterable[str]) -> None: ...


class DatabasePhotoStore:
    """Photos in the database (`stored_blobs`), written and deleted with the transaction."""

    def put(self, key: str, data: bytes) -> None:
        db_session().add(StoredBlob(key=key, data=data))

    def get(self, key: str) -> bytes | None:
        data: bytes | None = db_session().scalar(
            select(StoredBlob.data).where(StoredBlob.key == key)
        )
        return data

    def delete(self, keys: Iterable[str]) -> None:
        wanted = list(keys)
        if wanted:
            db_session().execute(delete(StoredBlob).where(StoredBlob.key.in_(wanted)))


def photo_store() -> PhotoStore:
    """The app's photo store: the database, or the factory `PHOTO_STORE` names (made once)."""
    store: PhotoStore | None = current_app.extensions.get(_KEY)
    if store is None:
        name = str(current_app.config.get("PHOTO_STORE", "database") or "database")
        if name == "database":
            store = DatabasePhotoStore()
        else:
            module, _, factory = name.partition(":")
            store = getattr(importlib.import_module(module), factory)(current_app.config)
        current_app.extensions[_KEY] = store
    assert store is not None
    return store
