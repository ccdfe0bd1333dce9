"""Exceptions that end a job in a known way."""


class JobError(Exception):
    """The job cannot go on for a reason a person can act on; the message is one line."""


class JobCancelled(Exception):
    """Someone asked for this job to be cancelled; it stopped at a unit boundary."""


class WorkerStopping(Exception):
    """The worker was asked to stop (SIGTERM, `swapdeck stop`); the job goes back to the queue."""
