from registry.admin.ui_app import page
from registry.admin.ui_pages import api_keys_page

page(api_keys_page)
