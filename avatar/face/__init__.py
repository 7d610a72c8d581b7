"""Face stages: photo intake, face analysis and gates, skin tone, likeness fit and face texture."""
