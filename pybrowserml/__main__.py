"""`python -m pybrowserml ...`: the same as the `pybrowserml` command."""

from .cli import main

raise SystemExit(main())
