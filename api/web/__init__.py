"""The web pages: avatar studio, embeddable size widget, returns dashboard, demo shop page, offline docs.

The pages are static shells plus bundles built from ``web/`` at set-up (``npm ci && npm run build``);
they call the same ``/v1`` routes as any client. This package only serves them, plus two small read
helpers the pages need (an item's sizes, and a body check with the API's own ranges and messages).
"""
