"""Imports every module that registers a job kind, so the worker knows them all."""
import pipeline.ingest.job  # noqa: F401
import pipeline.extract.job  # noqa: F401
import pipeline.curate.job  # noqa: F401
import pipeline.curate.export  # noqa: F401
import pipeline.curate.histogram  # noqa: F401
import pipeline.curate.identity_filter  # noqa: F401
import pipeline.curate.track_job  # noqa: F401
import pipeline.curate.align_edit  # noqa: F401
import pipeline.train.job  # noqa: F401
import pipeline.train.lr_find_job  # noqa: F401
import pipeline.convert.job  # noqa: F401
import pipeline.model_export.job  # noqa: F401
import pipeline.interop.import_job  # noqa: F401
import pipeline.interop.export_alignments  # noqa: F401
import pipeline.masks.train_job  # noqa: F401
import pipeline.masks.apply_job  # noqa: F401
import pipeline.masks.add_job  # noqa: F401
