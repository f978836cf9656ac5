"""Failures as Gradio's error dialog: one sentence for the person (components/core/errors.py chooses it), no
traceback on the page or, for a refusal, in the log."""

from __future__ import annotations

import functools
import inspect

import gradio as gr

from ..core.errors import user_message


def user_error(exc: Exception) -> gr.Error:
    """Any failure as a gr.Error carrying one sentence for the person (components/core/errors.py says which, and
    logs what needs logging).

    Gradio prints a full traceback for every gr.Error unless told not to: for a refusal (a budget, a bad file) that
    is noise, and formatting it is CPU a visitor can make the app spend at will."""
    if isinstance(exc, gr.Error):
        return exc
    return quiet_error(user_message(exc))


def quiet_error(message: str) -> gr.Error:
    """A gr.Error for the person, without Gradio printing its traceback (see `user_error`)."""
    return gr.Error(message, print_exception=False)


def friendly_errors(fn):
    """Turn every failure of a handler into a gr.Error with one clear sentence, for functions and generators."""
    if inspect.isasyncgenfunction(fn):

        @functools.wraps(fn)
        async def agen(*args, **kwargs):
            try:
                async for item in fn(*args, **kwargs):
                    yield item
            except Exception as exc:
                raise user_error(exc) from None

        return agen

    @functools.wraps(fn)
    async def wrapper(*args, **kwargs):
        try:
            return await fn(*args, **kwargs)
        except Exception as exc:
            raise user_error(exc) from None

    return wrapper
