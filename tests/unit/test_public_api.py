"""The package root's public API is exactly its __all__: what `from pybrowserml import *` gives."""

import types

import pybrowserml as pb


def test_every_name_in_all_exists():
    assert [name for name in pb.__all__ if not hasattr(pb, name)] == []
    assert len(set(pb.__all__)) == len(pb.__all__)


def test_every_public_name_of_the_root_is_in_all():
    public = {
        name
        for name, value in vars(pb).items()
        if not name.startswith("_") and not (isinstance(value, types.ModuleType) and name not in pb.__all__)
    }
    # sub-packages imported only as a side effect of importing others (e.g. backends) are not API
    assert public - set(pb.__all__) == set()
