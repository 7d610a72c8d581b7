"""Size and fit: import return and review data, train a LightGBM fit model, recommend and flag sizes."""
