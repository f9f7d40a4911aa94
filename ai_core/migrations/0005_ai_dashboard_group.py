"""The "AI dashboard viewers" group: admin access plus the permission to see AI usage and cost."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "AI dashboard viewers"


def create_group(apps, schema_editor):
    # Permissions are normally created after migrate; create ai_core's now so the group can hold them.
    app_config = apps.get_app_config("ai_core")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None

    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    usage_type = ContentType.objects.get(app_label="ai_core", model="llmusagelog")
    admin_type, _ = ContentType.objects.get_or_create(app_label="wagtailadmin", model="admin")
    access_admin, _ = Permission.objects.get_or_create(
        content_type=admin_type, codename="access_admin", defaults={"name": "Can access Wagtail admin"}
    )
    group, _ = Group.objects.get_or_create(name=GROUP)
    group.permissions.add(
        access_admin, Permission.objects.get(content_type=usage_type, codename="view_ai_dashboard")
    )


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("ai_core", "0004_circuitevent_dashboard_permission"),
        ("wagtailadmin", "0001_create_admin_access_permissions"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create_group, remove_group)]
