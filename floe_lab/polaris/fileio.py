"""A pyiceberg ``FileIO`` that reads and writes through the stand-in's :class:`StorageAccess`.

Why: the stand-in keeps Iceberg semantics (metadata files, commits, requirement checks) in pyiceberg's
``SqlCatalog``, which reads and writes metadata with whatever ``FileIO`` its ``py-io-impl`` property names. This
one routes those bytes through the catalog pod's S3 path (service-table DNS, STS-vended or static credentials,
Java SDK failure texts), so a broken endpoint breaks table creation exactly where Polaris breaks. Metadata
files are small, so reads and writes are whole-object.
"""

from __future__ import annotations

import io
from types import TracebackType

from pyiceberg.io import FileIO, InputFile, InputStream, OutputFile, OutputStream
from pyiceberg.typedef import Properties

from floe_lab.polaris.storage_io import StorageAccess

__all__ = ["STORAGE_PROPERTY", "StandInFileIO"]

STORAGE_PROPERTY = "polaris-stand-in.storage"


class StandInFileIO(FileIO):
    """FileIO over the :class:`StorageAccess` found under :data:`STORAGE_PROPERTY` in the properties."""

    def __init__(self, properties: Properties) -> None:
        super().__init__(properties)
        storage = properties.get(STORAGE_PROPERTY)
        if not isinstance(storage, StorageAccess):
            raise TypeError(f"{STORAGE_PROPERTY} must hold a StorageAccess")
        self._storage = storage

    def new_input(self, location: str) -> InputFile:
        return _InputFile(location, self._storage)

    def new_output(self, location: str) -> OutputFile:
        return _OutputFile(location, self._storage)

    def delete(self, location: str | InputFile | OutputFile) -> None:
        self._storage.delete(location if isinstance(location, str) else location.location)


class _InputFile(InputFile):
    def __init__(self, location: str, storage: StorageAccess) -> None:
        super().__init__(location)
        self._storage = storage

    def __len__(self) -> int:
        return self._storage.size(self.location)

    def exists(self) -> bool:
        return self._storage.exists(self.location)

    def open(self, seekable: bool = True) -> InputStream:
        return io.BytesIO(self._storage.read(self.location))


class _OutputFile(OutputFile):
    def __init__(self, location: str, storage: StorageAccess) -> None:
        super().__init__(location)
        self._storage = storage

    def __len__(self) -> int:
        return self._storage.size(self.location)

    def exists(self) -> bool:
        return self._storage.exists(self.location)

    def to_input_file(self) -> InputFile:
        return _InputFile(self.location, self._storage)

    def create(self, overwrite: bool = False) -> OutputStream:
        # Like Iceberg's TableMetadataParser.overwrite: a PUT, no existence probe first (paths carry a UUID).
        return _UploadOnClose(self.location, self._storage)


class _UploadOnClose(io.BytesIO):
    """Buffers the object and PUTs it when closed; a storage failure surfaces from ``close``."""

    def __init__(self, location: str, storage: StorageAccess) -> None:
        super().__init__()
        self._location = location
        self._storage = storage
        self._uploaded = False

    def close(self) -> None:
        if not self._uploaded and not self.closed:
            self._uploaded = True
            data = self.getvalue()
            super().close()
            self._storage.write(self._location, data)
            return
        super().close()

    def __exit__(
        self, exctype: type[BaseException] | None, excinst: BaseException | None, exctb: TracebackType | None
    ) -> None:
        if exctype is not None:
            self._uploaded = True  # a failed write uploads nothing
        self.close()
