from registry.admin.ui_app import page
from registry.admin.ui_pages import tts_models_page

page(tts_models_page)
