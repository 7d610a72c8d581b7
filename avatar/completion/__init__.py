"""Completion: the measurements a shopper did not give, predicted from those given, with intervals."""
