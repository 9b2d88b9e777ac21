#!/bin/sh
# Installs the site CA certificates of docker/certs/*.crt (copied to /tmp/certs) into the
# system trust store and, when a JDK/JRE is present, into its cacerts. Used by every stage of
# docker/Dockerfile; does nothing when there are no certificates.
set -eu
src=/tmp/certs
found=0
for c in "$src"/*.crt; do
  [ -e "$c" ] || continue
  found=1
  mkdir -p /usr/local/share/ca-certificates/site
  cp "$c" /usr/local/share/ca-certificates/site/
done
if [ "$found" = 1 ]; then
  if command -v update-ca-certificates >/dev/null; then
    # On Debian/Ubuntu with ca-certificates-java this also updates /etc/ssl/certs/java/cacerts.
    update-ca-certificates >/dev/null 2>&1
  else
    echo "install-certs: update-ca-certificates missing; system trust store not updated" >&2
  fi
  # Images with their own JDK (eclipse-temurin: /opt/java/openjdk) keep a separate cacerts file.
  java_home="${JAVA_HOME:-}"
  if [ -z "$java_home" ] && command -v java >/dev/null; then
    java_home="$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")"
  fi
  cacerts="$java_home/lib/security/cacerts"
  if [ -n "$java_home" ] && [ -f "$cacerts" ] && [ ! -L "$cacerts" ] && [ -x "$java_home/bin/keytool" ]; then
    for c in /usr/local/share/ca-certificates/site/*.crt; do
      alias="site-$(basename "$c" .crt)"
      "$java_home/bin/keytool" -delete -noprompt -cacerts -storepass changeit -alias "$alias" >/dev/null 2>&1 || true
      "$java_home/bin/keytool" -importcert -noprompt -cacerts -storepass changeit -alias "$alias" -file "$c" >/dev/null
    done
  fi
  echo "install-certs: installed $(find /usr/local/share/ca-certificates/site -name "*.crt" | wc -l) site CA certificate(s)" >&2
fi
rm -rf "$src"
