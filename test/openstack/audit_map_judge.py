#!/usr/bin/python3
"""keystonemiddleware's own reading of an audit map, as the judge of ours.

Reads one JSON object on stdin:
    {"map": "<file>" or null, "serviceType": "service/...",
     "requests": [{"method": "GET", "path": "/v2/x?y=1", "body": {...}}]}
and prints one JSON object: the map as keystonemiddleware parsed it, and for
each request the action (OpenStackAuditApi.get_action) and the target typeURI
(OpenStackAuditApi._build_typeURI) keystonemiddleware computes, or the error
it raises.
"""

import json
import logging
import sys

import webob

from keystonemiddleware.audit import _api


def main():
    spec = json.load(sys.stdin)
    out = {}
    try:
        api = _api.OpenStackAuditApi(spec.get('map'),
                                     logging.getLogger('judge'))
    except Exception as e:
        print(json.dumps({'error': '%s: %s' % (type(e).__name__, e)}))
        return
    m = api._MAP
    out['map'] = {
        'pathKeywords': m.path_kw,
        'customActions': m.custom_actions,
        'serviceEndpoints': m.service_endpoints,
        'targetEndpointType': m.default_target_endpoint_type,
    }
    results = []
    for r in spec['requests']:
        kwargs = {'method': r['method']}
        if r.get('body') is not None:
            kwargs['body'] = json.dumps(r['body']).encode('utf-8')
            kwargs['content_type'] = 'application/json'
        req = webob.Request.blank(r['path'], **kwargs)
        try:
            results.append({
                'action': api.get_action(req),
                'typeURI': api._build_typeURI(req, spec['serviceType']),
            })
        except Exception as e:
            results.append({'error': '%s: %s' % (type(e).__name__, e)})
    out['results'] = results
    print(json.dumps(out))


if __name__ == '__main__':
    main()
