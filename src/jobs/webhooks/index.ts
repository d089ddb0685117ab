/** `callback_url` webhooks: the submit-time URL check and the durable dispatcher (docs/webhooks.md). */
export { callbackUrlRefusal, compileTargetPolicy, ALLOWED_TARGETS_SETTING, type TargetPolicy } from './target-policy.js';
export { WebhookDispatcher, type WebhookDispatcherOptions } from './webhook-dispatcher.js';
export { readWebhookDelivery, WEBHOOK_DUE_QUEUE, type WebhookDelivery, type WebhookDeliveryState } from './delivery-record.js';
export { buildWebhookBody, deliveryIdOf, webhookHeaders, WEBHOOK_EVENT, WEBHOOK_OUTPUT_MAX_CHARS } from './webhook-body.js';
export { systemLookup, type HostLookup, type ResolvedAddress } from './resolve-target.js';
