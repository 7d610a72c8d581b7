"""``python -m avatar.completion --train | --evaluate``."""

from avatar.completion.model import main

main()
