"""Callbacks for fit/evaluate/predict, with Keras names, defaults and semantics."""

from __future__ import annotations

from ._progress import ProgressCallback, normalize_verbose
from .backup_and_restore import BackupAndRestore
from .base import Callback, CallbackList, History
from .dom_progress import DomProgress, has_document
from .early_stopping import EarlyStopping
from .lambda_callback import LambdaCallback
from .model_checkpoint import ModelCheckpoint, load_checkpoint_weights, save_checkpoint
from .progbar import ProgbarLogger
from .reduce_lr_on_plateau import ReduceLROnPlateau
from .terminate_on_nan import TerminateOnNaN
from .training_control import TrainingControl


def default_progress(verbose=1):
    """The progress callback for where we run: DomProgress in a browser page, else ProgbarLogger.

    Training loops call it when verbose != 0 and the user passed no ProgressCallback of their own.
    Returns None for verbose=0; "auto" means 1, like Keras. In a Pyodide web worker (no DOM) the
    console ProgbarLogger is used.
    """
    verbose = normalize_verbose(verbose)
    if not verbose:
        return None
    if has_document():
        return DomProgress(verbose=verbose)
    return ProgbarLogger(verbose=verbose)


__all__ = [
    "BackupAndRestore",
    "Callback",
    "CallbackList",
    "History",
    "DomProgress",
    "EarlyStopping",
    "LambdaCallback",
    "ModelCheckpoint",
    "ProgbarLogger",
    "ProgressCallback",
    "ReduceLROnPlateau",
    "TerminateOnNaN",
    "TrainingControl",
    "default_progress",
    "load_checkpoint_weights",
    "save_checkpoint",
]
