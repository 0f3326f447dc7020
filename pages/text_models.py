from registry.admin.ui_app import page
from registry.admin.ui_pages import text_models_page

page(text_models_page)
