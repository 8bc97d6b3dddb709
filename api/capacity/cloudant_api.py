"""CLOUDANT_CAPACITY=auto: the instance's capacity, asked of Cloudant's capacity API at start-up."""

from __future__ import annotations

import logging

from ibm_cloud_sdk_core import ApiException
from ibmcloudant import CloudantV1

from api.config.capacity import PerClass

log = logging.getLogger('couchgate.capacity')


def capacity_of(client: CloudantV1) -> PerClass | None:
    """GET /_api/v2/user/capacity/throughput (current, not target); None, with a warning line, when
    the credentials may not ask (it needs the admin or Manager role) or the server has no such API."""
    try:
        result = client.get_capacity_throughput_information().get_result()
        throughput = result['current']['throughput']
        return PerClass(int(throughput['read']), int(throughput['write']), int(throughput['query']))
    except ApiException as e:
        reason = f'the capacity API answered {e.status_code}'
    except (KeyError, TypeError, ValueError):
        reason = 'the capacity API answered something unusable'
    except Exception as e:  # a connection error, an IAM token request: never a failed start
        reason = f'the capacity API could not be reached ({type(e).__name__})'
    log.warning(
        'CLOUDANT_CAPACITY=auto: %s; no capacity guard: set CLOUDANT_CAPACITY=reads=R,writes=W,queries=Q',
        reason,
    )
    return None
