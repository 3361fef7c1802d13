import type { CadfOutcome } from './taxonomy';

/** A CADF endpoint (`pycadf.endpoint.Endpoint`). @public */
export interface CadfEndpoint {
  url: string;
  name?: string;
}

/** A CADF attachment (`pycadf.attachment.Attachment`). @public */
export interface CadfAttachment {
  /** What `content` holds: `mime:application/json`, `xs:string`, `xs:boolean`. */
  typeURI: string;
  content: unknown;
  name: string;
}

/** A CADF resource as keystonemiddleware fills it (`ClientResource`, `Resource`). @public */
export interface CadfResource {
  typeURI?: string;
  id: string;
  name?: string;
  host?: { address?: string; agent?: string };
  credential?: { token: string; identity_status: string };
  addresses?: CadfEndpoint[];
  project_id?: string;
  request_id?: string;
}

/** A CADF event as this package renders it. @public */
export interface CadfEvent {
  typeURI: string;
  id: string;
  eventType: 'activity';
  eventTime: string;
  action: string;
  outcome: CadfOutcome;
  /** The audit record's event name (a CADF event's optional descriptive name). */
  name: string;
  initiator: CadfResource;
  target: CadfResource;
  observer: { id: 'target' };
  reason?: { reasonType: string; reasonCode: string };
  requestPath?: string;
  tags: string[];
  reporterchain?: Array<{
    role: 'modifier';
    reporter: { id: 'target' };
    reporterTime: string;
  }>;
  attachments?: CadfAttachment[];
}
