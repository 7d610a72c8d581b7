"""Completion: the measurements a shopper did not give, predicted from those given, with intervals."""

from avatar.completion.model import CompletionModel, Prediction
from avatar.completion.report import completion_report
from avatar.completion.store import load_default

__all__ = ["CompletionModel", "Prediction", "completion_report", "load_default"]
