"""What the Convert screen asks before it queues a conversion: how many frames, about how
long (from the rate earlier conversions ran at, once one has finished) and which file is
written or replaced."""
from __future__ import annotations

from pathlib import Path

from store.requests.convert import ConvertPlan
from tui.printable import printable


def duration(seconds: float) -> str:
    """About how long, rounded as a person would say it: 40 s, 3 min, 1 h 20 min."""
    if seconds < 60:
        return f"{max(1, round(seconds))} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"


def frames_line(plan: ConvertPlan) -> str:
    source, person = plan.source, plan.params["person"]
    faces = f"{plan.faces:,} face{'s' * (plan.faces != 1)} of {person} found in it"
    if plan.frames is None:
        return (f"Swaps {person}'s face in the frames {plan.params['settings']['frames']} of "
                f"{source.name} (the job checks those ranges); {faces}.")
    if plan.frames == source.frame_count:
        return (f"Swaps {person}'s face in all {source.frame_count:,} frames of "
                f"{source.name}; {faces}.")
    return (f"Swaps {person}'s face in {plan.frames:,} of the {source.frame_count:,} frames "
            f"of {source.name} (frames {plan.params['settings']['frames']}); {faces}.")


def time_line(plan: ConvertPlan) -> str:
    seconds = plan.seconds
    if seconds is None or plan.rate is None:
        return "No time estimate yet: no conversion has finished in this project."
    return (f"Takes about {duration(seconds)} at {plan.rate:.1f} frames/s (the rate of the "
            "last conversions in this project).")


def confirm_text(plan: ConvertPlan) -> tuple[str, str, str]:
    """The dialog's title, body and yes-key help."""
    output = Path(plan.params["output"])
    if plan.replaces:
        title = f"Replace {output.name}?"
        writes = (f"{output} exists and is replaced (the old one stays until the new one "
                  "is whole).")
    else:
        title = f"Convert {plan.source.name}?"
        writes = f"Writes {output}."
    lines = [frames_line(plan), time_line(plan), writes,
             "y queues a convert job for the worker; n or escape queues nothing."]
    return printable(title), "\n".join(map(printable, lines)), "y: convert"
