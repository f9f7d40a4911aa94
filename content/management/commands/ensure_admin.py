"""Create the demo/admin superuser if it does not exist. Never changes an existing user's password."""

import os
import secrets
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

CREDENTIALS_FILE = Path(".demo-credentials")


class Command(BaseCommand):
    help = (
        "Create a superuser from LECTERN_ADMIN_USERNAME / LECTERN_ADMIN_PASSWORD / LECTERN_ADMIN_EMAIL; "
        "without a password in the environment a random one is generated, printed and saved to "
        ".demo-credentials (git-ignored, mode 600)."
    )

    def handle(self, *args, **options):
        username = os.environ.get("LECTERN_ADMIN_USERNAME", "admin")
        email = os.environ.get("LECTERN_ADMIN_EMAIL", "admin@example.com")
        User = get_user_model()
        if User.objects.filter(username=username).exists():
            self.stdout.write(f"Admin user '{username}' already exists; password unchanged.")
            if CREDENTIALS_FILE.exists():
                self.stdout.write(f"Credentials: {CREDENTIALS_FILE.read_text().strip()}")
            return
        password = os.environ.get("LECTERN_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        User.objects.create_superuser(username=username, email=email, password=password)
        if "LECTERN_ADMIN_PASSWORD" not in os.environ:
            CREDENTIALS_FILE.write_text(f"username {username} / password {password}\n")
            CREDENTIALS_FILE.chmod(0o600)
        self.stdout.write(self.style.SUCCESS(f"Created admin user '{username}' with password: {password}"))
