#!/usr/bin/env bash
# Makes sure a RabbitMQ broker answers on 127.0.0.1:5672: starts the local
# one when it is installed but stopped (installing it first through
# scripts/deps.sh when it is missing), and waits until it accepts connections.
set -euo pipefail
cd "$(dirname "$0")/.."

port_open() { (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; }

if port_open; then
	exit 0
fi
if ! command -v rabbitmq-server >/dev/null 2>&1 && [ ! -x /usr/sbin/rabbitmq-server ]; then
	scripts/deps.sh
fi
PATH=$PATH:/usr/sbin
echo "broker: starting RabbitMQ (rabbitmq-server -detached)"
if [ "$(id -u)" -eq 0 ]; then
	rabbitmq-server -detached
elif sudo -n true 2>/dev/null; then
	sudo -n rabbitmq-server -detached
else
	echo "broker: RabbitMQ is not running on 127.0.0.1:5672 and starting it needs root; run:" >&2
	echo "  sudo rabbitmq-server -detached" >&2
	exit 1
fi
for _ in $(seq 1 120); do
	if port_open; then
		echo "broker: RabbitMQ is up"
		exit 0
	fi
	sleep 1
done
echo "broker: RabbitMQ did not come up on 127.0.0.1:5672 within 120s; see /var/log/rabbitmq/" >&2
exit 1
