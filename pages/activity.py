from registry.admin.ui_app import page
from registry.admin.ui_pages import activity_page

page(activity_page)
