"""Model Registry admin dashboard: `streamlit run app.py` (pages in pages/, logic in registry)."""

from registry.admin.ui_app import run

run()
