"""Look-alike avatars: body parameters and a face photo to a fitted, measured 3D body."""
