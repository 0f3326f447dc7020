from registry.admin.ui_app import page
from registry.admin.ui_overview import overview_page

page(overview_page)
