"""Rendering the avatar into the try-on bundle: camera, renderer, part labels, keypoints, bundle files."""
