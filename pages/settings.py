from registry.admin.ui_app import page
from registry.admin.ui_pages import settings_page

page(settings_page)
