"""``python -m avatar.completion --train | --evaluate``."""

from avatar.completion.report import main

main()
