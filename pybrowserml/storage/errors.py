"""The errors every store raises, whatever it stores into (a directory or IndexedDB)."""


class StorageError(Exception):
    """Base class of the storage errors."""


class StorageUnavailableError(StorageError):
    """The storage cannot be used at all (IndexedDB missing, blocked by another tab, private mode, ...).

    Callers that cache (the dataset loaders) catch it, warn, and load the data from its source.
    """


class QuotaExceededError(StorageError):
    """The browser (or the disk) refused to store more; the partial write was rolled back."""


class CorruptRecordError(StorageError):
    """A stored record failed its integrity check (sha256, chunk count or size). It has been deleted."""
