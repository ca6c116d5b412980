#!/usr/bin/python3
"""The Python client Home Assistant uses (paho-mqtt), driven once end to end.

Connects with the given protocol (5, 3.1.1 or 3.1), subscribes to a topic, publishes one QoS 1
message to it, waits for it to come back, disconnects. With 5, the message carries user
properties, a response topic, correlation data and a content type, and the properties that come
back are printed too. Prints one JSON line with what happened;
exit status 0 when the message came back, 2 when the CONNACK refused, 1 on any other failure.
Every wait has a deadline.
"""
import argparse
import json
import sys
import threading

import paho.mqtt.client as mqtt

from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

PROTOCOLS = {"5": mqtt.MQTTv5, "3.1.1": mqtt.MQTTv311, "3.1": mqtt.MQTTv31}


def make_client(client_id, protocol):
    # paho-mqtt 2 wants the callback API version; 1.x (Debian bookworm) does not know it.
    if hasattr(mqtt, "CallbackAPIVersion"):
        return mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION1, client_id=client_id, protocol=protocol
        )
    return mqtt.Client(client_id=client_id, protocol=protocol)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--username", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--protocol", choices=sorted(PROTOCOLS), required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--payload", required=True)
    parser.add_argument("--timeout", type=float, default=5.0)
    args = parser.parse_args()

    result = {"protocol": args.protocol}
    connected = threading.Event()
    subscribed = threading.Event()
    received = threading.Event()

    v5 = args.protocol == "5"

    def on_connect(client, userdata, flags, rc, properties=None):
        result["connack"] = rc.value if v5 else rc
        connected.set()

    def on_subscribe(client, userdata, mid, granted_qos, properties=None):
        result["granted"] = [g.value if v5 else g for g in granted_qos]
        subscribed.set()

    def on_message(client, userdata, message):
        if message.topic == args.topic:
            result["received"] = {
                "topic": message.topic,
                "payload": message.payload.decode("utf-8"),
                "qos": message.qos,
            }
            if v5:
                p = message.properties
                result["received"]["properties"] = {
                    "user": [list(pair) for pair in getattr(p, "UserProperty", [])],
                    "response_topic": getattr(p, "ResponseTopic", None),
                    "correlation_data": getattr(p, "CorrelationData", b"").decode("utf-8"),
                    "content_type": getattr(p, "ContentType", None),
                }
            received.set()

    client = make_client(args.client_id, PROTOCOLS[args.protocol])
    client.username_pw_set(args.username, args.password)
    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = on_message

    def finish(status, error=None):
        if error:
            result["error"] = error
        print(json.dumps(result), flush=True)
        client.loop_stop()
        sys.exit(status)

    client.connect("127.0.0.1", args.port, keepalive=30)
    client.loop_start()
    if not connected.wait(args.timeout):
        finish(1, "no CONNACK")
    if result["connack"] != 0:
        finish(2)
    client.subscribe(args.topic, qos=1)
    if not subscribed.wait(args.timeout):
        finish(1, "no SUBACK")
    publish_properties = None
    if v5:
        publish_properties = Properties(PacketTypes.PUBLISH)
        publish_properties.UserProperty = [("origin", "paho"), ("order", "2")]
        publish_properties.ResponseTopic = args.topic + "/reply"
        publish_properties.CorrelationData = b"req-7"
        publish_properties.ContentType = "text/plain"
    info = client.publish(args.topic, args.payload, qos=1, properties=publish_properties)
    if not received.wait(args.timeout):
        finish(1, "message did not come back")
    info.wait_for_publish(args.timeout)
    client.disconnect()
    finish(0)


if __name__ == "__main__":
    main()
