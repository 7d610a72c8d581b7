"""Body stages: body models, anthropometry and girth loops, fitting to measurements, skeleton, export."""
