#!/usr/bin/env bash
# Makes every key and certificate a wuye deployment needs, into DIR (default deploy/secrets,
# which git ignores):
#   identity/<component>.pem, .pub.pem   Ed25519 identity keys (gateway, departments)
#   token/tokens-1.pem, .pub.pem         an Ed25519 user-token key (kid tokens-1), until sign-in
#                                        goes through the company's identity provider
#   tls/ca.crt, <name>.crt/.key          a private CA's certificate, and a certificate per
#                                        component and for compose's databases (deploy/README.md
#                                        "TLS"); the CA's key stays in ca/, never mounted
#   wuye.env                             the database password and each department's keyring
# compose reads them (docker compose --env-file DIR/wuye.env …, WUYE_SECRETS_DIR=DIR); for
# Kubernetes, deploy/README.md "Secrets" turns them into Secrets. Nothing is overwritten: remove
# a file to make it again. Needs openssl.
set -euo pipefail
dir=${1:-$(dirname "$0")/secrets}
mkdir -p "$dir"/identity "$dir"/token "$dir"/tls "$dir"/ca
cd "$dir"
umask 077

components=(gateway customer-service engineering archives quality directory)

ed25519() {  # ed25519 PATH-WITHOUT-.pem
  [ -e "$1.pem" ] && return
  openssl genpkey -algorithm ed25519 -out "$1.pem"
  openssl pkey -in "$1.pem" -pubout -out "$1.pub.pem"
}
for c in "${components[@]}"; do ed25519 "identity/$c"; done
ed25519 token/tokens-1

# The CA signs nothing but wuye's components: departments admit any client it signed.
if [ ! -e tls/ca.crt ]; then
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
    -keyout ca/ca.key -out tls/ca.crt -subj "/CN=wuye CA $(date +%Y)" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    2>/dev/null
fi
issue() {  # issue NAME DNS-NAMES…: server and client authentication, for 397 days
  local name=$1; shift
  [ -e "tls/$name.crt" ] && return
  local sans; sans=$(printf 'DNS:%s,' "$@"); sans=${sans%,}
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "tls/$name.key" -out "tls/$name.csr" -subj "/CN=$name" 2>/dev/null
  openssl x509 -req -in "tls/$name.csr" -CA tls/ca.crt -CAkey ca/ca.key \
    -CAserial ca/ca.srl -CAcreateserial \
    -days 397 -out "tls/$name.crt" -extfile <(printf '%s\n' "subjectAltName=$sans" \
      "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
      "extendedKeyUsage=serverAuth,clientAuth") 2>/dev/null
  rm "tls/$name.csr"
}
for c in customer-service engineering archives quality directory; do
  issue "$c" "$c" "$c.wuye.svc" "$c.wuye.svc.cluster.local" localhost
done
issue gateway gateway gateway.wuye.svc gateway.wuye.svc.cluster.local localhost
issue postgres customer-service-db engineering-db archives-db quality-db directory-db localhost

if [ ! -e wuye.env ]; then
  keyring() { echo "k$(date +%Y%m)=$(openssl rand -hex 32)"; }
  cat > wuye.env <<ENV
WUYE_DB_PASSWORD=$(openssl rand -hex 16)
WUYE_CUSTOMER_SERVICE_ENCRYPTION_KEYS=$(keyring)
WUYE_ENGINEERING_ENCRYPTION_KEYS=$(keyring)
WUYE_ARCHIVES_ENCRYPTION_KEYS=$(keyring)
WUYE_DIRECTORY_ENCRYPTION_KEYS=$(keyring)
ENV
fi

# The images run as uid 65532: it must read the keys.
if [ "$(id -u)" = 0 ]; then
  chown -R 65532:65532 identity token tls
  chmod -R u+rX identity token tls
else
  chmod -R a+rX identity token tls
  echo "note: the key files are readable by every user of this machine, so that the" \
    "containers' uid 65532 reads them; run as root to give them to uid 65532 alone" >&2
fi
echo "keys and certificates in $(pwd)"
