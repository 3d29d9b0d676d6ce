"""`python -m pybrowserml ...`: the same as the `pybrowserml` command (the pybrowserml-cli wheel's)."""

try:
    from .cli import main
except ModuleNotFoundError as error:
    if error.name != "pybrowserml.cli":
        raise
    raise SystemExit(
        "python -m pybrowserml: the command line is not installed here. It ships as its own wheel beside the "
        "core (browser pages do not need it): pip install pybrowserml_cli-<version>-py3-none-any.whl from the "
        "folder scripts/build writes (.build/dist/), or run it from a checkout (.build/venv/bin/python -m pybrowserml)"
    ) from None

raise SystemExit(main())
