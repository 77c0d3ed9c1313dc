"""Errors the command line reports as one line, without a traceback.

Every failure a user can cause or fix (a bad file, a wrong key, a broken download)
raises a subclass of InfoganError whose message names the file or key and, where
there is one, the fix. Programming errors stay ordinary exceptions with tracebacks.
"""


class InfoganError(Exception):
    """A failure with a message fit to show the user as is."""


class ConfigError(InfoganError):
    """An experiment config is missing, malformed, or has an unknown or invalid key."""


class DatasetFileError(InfoganError):
    """An HDF5 dataset file is missing, corrupt, or not in the expected layout."""


class DownloadError(InfoganError):
    """A file could not be fetched, or what was fetched is not the expected file."""


class ChecksumError(DownloadError):
    """A file's checksum does not match the published one."""


class CheckpointError(InfoganError):
    """A checkpoint is unreadable or belongs to another experiment."""


class TrainingDiverged(InfoganError):
    """A loss became NaN or infinite; the last good checkpoint was left untouched."""


class WriteError(InfoganError):
    """A file could not be written: the disk is full or read-only, or permission is denied."""


class Stopped(InfoganError):
    """Training stopped by a signal (Ctrl-C, SIGTERM) after saving a checkpoint; the command
    exits with 128 + the signal's number, as a shell reports a process the signal ended."""

    def __init__(self, message, signum):
        super().__init__(message)
        self.signum = signum
