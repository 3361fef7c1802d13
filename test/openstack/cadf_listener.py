#!/usr/bin/python3
"""An oslo.messaging notification listener that judges CADF payloads with pycadf.

Built on oslo.messaging's own, unmodified notification listener. Prints one
JSON line per notification on stdout:

    {"priority", "publisher_id", "event_type", "payload", "metadata",
     "cadf": {"valid": bool, "errors": [...], "warnings": [...]}}

and "READY" once its queue is declared and bound. Logs (oslo's own, e.g.
"Failed to process message ... skipping it") go to stderr. Stops on SIGTERM
or when stdin closes.

Usage: cadf_listener.py --url rabbit://guest:guest@127.0.0.1:5672/ \
           [--exchange openstack] [--topic notifications] [--pool NAME] \
           [--durable]

--durable sets oslo's own `[oslo_messaging_rabbit] amqp_durable_queues`, as
an OpenStack deployment with durable queues does: the exchange and the queue
are declared durable and survive a broker restart.

CADF_LISTENER_LOG=DEBUG in the environment shows oslo's own debug log (each
message received, polled and dispatched) on stderr.
"""

import argparse
import json
import logging
import os
import signal
import sys
import tempfile
import threading
import warnings

from oslo_config import cfg
import oslo_messaging
from pycadf import attachment
from pycadf import cadftaxonomy
from pycadf import cadftype
from pycadf import credential
from pycadf import endpoint
from pycadf import event as cadf_event
from pycadf import host
from pycadf import reason
from pycadf import reporterstep
from pycadf import resource


RESOURCE_EXTRA_KEYS = {'project_id', 'request_id', 'global_request_id'}
EVENT_EXTRA_KEYS = {'requestPath'}


class Invalid(Exception):
    pass


def _check_keys(where, data, allowed):
    unknown = set(data) - set(allowed)
    if unknown:
        raise Invalid('%s has keys pycadf does not know: %s'
                      % (where, sorted(unknown)))


def load_resource(where, data):
    """A pycadf Resource from its dict, through pycadf's validators."""
    if not isinstance(data, dict):
        raise Invalid('%s is not an object' % where)
    _check_keys(where, data,
                set(resource.RESOURCE_KEYNAMES) | RESOURCE_EXTRA_KEYS)
    res = resource.Resource(
        id=data.get('id'),
        typeURI=data.get('typeURI', cadftaxonomy.UNKNOWN),
        name=data.get('name'))
    if 'host' in data:
        _check_keys(where + '.host', data['host'], host.HOST_KEYNAMES)
        res.host = host.Host(**data['host'])
    if 'credential' in data:
        cred = dict(data['credential'])
        token = cred.pop('token')
        status = cred.pop('identity_status', None)
        _check_keys(where + '.credential', cred, credential.CRED_KEYNAMES)
        c = credential.Credential(token=token, **cred)
        # Credential() masks the token; keep what was sent, for the round trip.
        c.token = token
        if status is not None:
            c.identity_status = status
        res.credential = c
    for i, addr in enumerate(data.get('addresses', [])):
        _check_keys('%s.addresses[%d]' % (where, i), addr,
                    endpoint.ENDPOINT_KEYNAMES)
        res.add_address(endpoint.Endpoint(**addr))
    for key in RESOURCE_EXTRA_KEYS:
        if key in data:
            setattr(res, key, data[key])
    if not res.is_valid():
        raise Invalid('%s is not a valid pycadf Resource' % where)
    return res


def load_event(payload):
    """A pycadf Event from a payload: every value through pycadf's validators."""
    if not isinstance(payload, dict):
        raise Invalid('payload is not an object')
    _check_keys('event', payload,
                set(cadf_event.EVENT_KEYNAMES) | EVENT_EXTRA_KEYS)
    if payload.get('typeURI') != cadf_event.TYPE_URI_EVENT:
        raise Invalid('typeURI is %r' % payload.get('typeURI'))
    if not cadftaxonomy.is_valid_action(payload['action']):
        raise Invalid('action %r is not in the taxonomy' % payload['action'])
    if not cadftaxonomy.is_valid_outcome(payload['outcome']):
        raise Invalid('outcome %r is not in the taxonomy'
                      % payload['outcome'])
    ev = cadf_event.Event(
        eventType=payload['eventType'],
        id=payload['id'],
        eventTime=payload['eventTime'],
        action=payload['action'],
        outcome=payload['outcome'],
        initiator=load_resource('initiator', payload['initiator']),
        target=load_resource('target', payload['target']),
        observer=load_resource('observer', payload['observer']),
        name=payload.get('name'))
    if 'reason' in payload:
        _check_keys('reason', payload['reason'], reason.REASON_KEYNAMES)
        ev.reason = reason.Reason(**payload['reason'])
    for t in payload.get('tags', []):
        ev.add_tag(t)
    for i, step in enumerate(payload.get('reporterchain', [])):
        _check_keys('reporterchain[%d]' % i, step,
                    reporterstep.REPORTERSTEP_KEYNAMES)
        ev.add_reporterstep(reporterstep.Reporterstep(
            role=step['role'], reporterTime=step.get('reporterTime'),
            reporter=load_resource('reporterchain[%d].reporter' % i,
                                   step['reporter'])))
    for i, att in enumerate(payload.get('attachments', [])):
        _check_keys('attachments[%d]' % i, att,
                    attachment.ATTACHMENT_KEYNAMES)
        ev.add_attachment(attachment.Attachment(**att))
    if 'requestPath' in payload:
        ev.requestPath = payload['requestPath']
    if not ev.is_valid():
        raise Invalid('not a valid pycadf Event')
    # Everything sent must come back out of pycadf unchanged.
    if ev.as_dict() != payload:
        raise Invalid('pycadf does not round-trip the payload: %s'
                      % json.dumps(ev.as_dict(), sort_keys=True))
    return ev


def judge(payload):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        try:
            load_event(payload)
            errors = []
        except Exception as e:  # every failure is a verdict, not a crash
            errors = ['%s: %s' % (type(e).__name__, e)]
    return {'valid': not errors, 'errors': errors,
            'warnings': [str(w.message) for w in caught]}


_out = threading.Lock()


def emit(line):
    with _out:
        sys.stdout.write(json.dumps(line, sort_keys=True) + '\n')
        sys.stdout.flush()


class Endpoint(object):
    def _record(self, priority, ctxt, publisher_id, event_type, payload,
                metadata):
        logging.getLogger('cadf-listener').debug(
            'dispatched %s', metadata.get('message_id'))
        emit({'priority': priority, 'publisher_id': publisher_id,
              'event_type': event_type, 'payload': payload,
              'metadata': metadata, 'cadf': judge(payload)})
        return oslo_messaging.NotificationResult.HANDLED


for _priority in ('audit', 'debug', 'info', 'warn', 'error', 'critical',
                  'sample'):
    def _handler(self, ctxt, publisher_id, event_type, payload, metadata,
                 _p=_priority):
        return self._record(_p.upper(), ctxt, publisher_id, event_type,
                            payload, metadata)
    setattr(Endpoint, _priority, _handler)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--url', required=True)
    parser.add_argument('--exchange', default='openstack')
    parser.add_argument('--topic', default='notifications')
    parser.add_argument('--pool', default=None)
    parser.add_argument('--durable', action='store_true')
    args = parser.parse_args()

    logging.basicConfig(stream=sys.stderr,
                        level=os.environ.get('CADF_LISTENER_LOG', 'WARNING'),
                        format='%(levelname)s %(name)s: %(message)s')
    conf = cfg.ConfigOpts()
    # Set the way operators set it: in a config file oslo.config reads.
    with tempfile.NamedTemporaryFile('w', suffix='.conf', delete=False) as f:
        f.write('[oslo_messaging_rabbit]\namqp_durable_queues = %s\n'
                % ('true' if args.durable else 'false'))
    try:
        conf(['--config-file', f.name], project='cadf-listener')
    finally:
        os.unlink(f.name)
    transport = oslo_messaging.get_notification_transport(conf, url=args.url)
    targets = [oslo_messaging.Target(topic=args.topic,
                                     exchange=args.exchange)]
    listener = oslo_messaging.get_notification_listener(
        transport, targets, [Endpoint()], executor='threading',
        pool=args.pool)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()),
                     daemon=True).start()
    # One dispatch thread: notifications are handled, and printed, in queue order.
    listener.start(override_pool_size=1)
    emit('READY')
    done.wait()
    listener.stop()
    listener.wait()
    transport.cleanup()


if __name__ == '__main__':
    main()
