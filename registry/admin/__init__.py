"""The Streamlit admin dashboard's view logic and components.

Modules without the `ui_` prefix are plain Python (no Streamlit import) and tested directly:
`timefmt` ("3 minutes ago"), `views` (table rows, grid-edit diffing, summaries, CSV, escaping)
and `access` (who may use the dashboard). The `ui_*` modules draw with Streamlit and are used
by `app.py` and the thin pages in `pages/`.
"""
