#!/usr/bin/python3
"""keystonemiddleware's audit middleware around a tiny WSGI app.

The reference the CADF format is compared with: the real middleware
(keystonemiddleware.audit.AuditMiddleware) publishing its CADF events through
oslo.messaging's messagingv2 driver, behind oslo.middleware's RequestId as in
every OpenStack API pipeline. keystone's auth_token middleware cannot run here
(there is no Keystone server); the test sends the headers it would set
(X-User-Id, X-User-Name, X-Project-Id, X-Identity-Status, X-Auth-Token,
X-Service-Catalog), which is all the audit middleware reads from it.

Routes of the app:
    GET  /v1/things          200, a list
    GET  /v1/things/<id>     200, one thing; 404 for id "missing"
    POST /v1/things          201
    POST /v1/boom            raises (the middleware records outcome unknown)

Prints {"ready": <port>} on stdout once it serves. Stops on SIGTERM.

Usage: keystone_app.py --transport-url rabbit://... --publisher-id NAME
           [--topic notifications] [--audit-map FILE]
"""

import argparse
import json
import logging
import signal
import sys
from wsgiref import simple_server

from oslo_config import cfg
from oslo_middleware import request_id
import webob
import webob.dec

from keystonemiddleware import audit


@webob.dec.wsgify
def things(req):
    parts = [p for p in req.path_info.split('/') if p]
    if parts == ['v1', 'boom']:
        raise RuntimeError('the handler crashed')
    if parts == ['v1', 'things'] and req.method == 'GET':
        return webob.Response(json_body={'things': []}, status=200)
    if parts == ['v1', 'things'] and req.method == 'POST':
        return webob.Response(json_body={'id': 'new'}, status=201)
    if len(parts) == 3 and parts[:2] == ['v1', 'things']:
        if parts[2] == 'missing':
            return webob.Response(json_body={'error': 'not found'},
                                  status=404)
        return webob.Response(json_body={'id': parts[2]}, status=200)
    return webob.Response(status=404)


class QuietHandler(simple_server.WSGIRequestHandler):
    def log_message(self, *args):
        pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--transport-url', required=True)
    parser.add_argument('--publisher-id', required=True)
    parser.add_argument('--topic', default='notifications')
    parser.add_argument('--audit-map', default=None)
    args = parser.parse_args()

    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    # The middleware's notifier names itself after the program.
    sys.argv[0] = args.publisher_id
    conf = cfg.ConfigOpts()
    conf([], project='keystone-app')
    options = {
        'oslo_config_config': conf,
        'driver': 'messagingv2',
        'topics': args.topic,
        'transport_url': args.transport_url,
    }
    if args.audit_map:
        options['audit_map_file'] = args.audit_map
    app = request_id.RequestId(audit.AuditMiddleware(things, **options))
    server = simple_server.make_server('127.0.0.1', 0, app,
                                       handler_class=QuietHandler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    sys.stdout.write(json.dumps({'ready': server.server_port}) + '\n')
    sys.stdout.flush()
    server.serve_forever()


if __name__ == '__main__':
    main()
