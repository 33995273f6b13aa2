package dev.ehranchor.fhirserver;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.interceptor.api.Hook;
import ca.uhn.fhir.interceptor.api.IInterceptorService;
import ca.uhn.fhir.interceptor.api.Pointcut;
import ca.uhn.fhir.jpa.searchparam.matcher.InMemoryMatchResult;
import ca.uhn.fhir.jpa.subscription.match.matcher.subscriber.SubscriptionDeliveryRequest;
import ca.uhn.fhir.jpa.subscription.match.matcher.subscriber.SubscriptionMatchDeliverer;
import ca.uhn.fhir.jpa.subscription.match.registry.ActiveSubscription;
import ca.uhn.fhir.jpa.subscription.match.registry.SubscriptionRegistry;
import ca.uhn.fhir.jpa.subscription.model.CanonicalSubscription;
import ca.uhn.fhir.jpa.subscription.model.ResourceDeliveryMessage;
import ca.uhn.fhir.jpa.topic.ISubscriptionTopicLoader;
import ca.uhn.fhir.jpa.topic.SubscriptionTopicDispatchRequest;
import ca.uhn.fhir.jpa.topic.SubscriptionTopicPayloadBuilder;
import ca.uhn.fhir.rest.api.RestOperationTypeEnum;
import jakarta.annotation.PostConstruct;
import jakarta.annotation.PreDestroy;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.CodeType;
import org.hl7.fhir.r4.model.Parameters;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.annotation.Lazy;
import org.springframework.stereotype.Component;

/**
 * Handshake and heartbeat notifications for R4 backport topic-based Subscriptions (Subscriptions
 * R5 Backport IG): HAPI FHIR 8.8.0 matches topics and delivers {@code event-notification}s
 * ({@code SubscriptionTopicConfig}), but has no code that sends a {@code handshake} when a topic
 * Subscription becomes active or a {@code heartbeat} every {@code backport-heartbeat-period}
 * seconds without other notifications. This fills that gap with HAPI's own pieces: the
 * notification Bundle comes from {@link SubscriptionTopicPayloadBuilder} (a {@code history}
 * Bundle whose first entry is the {@code backport-subscription-status-r4} Parameters), with the
 * status {@code type} set and no {@code notification-event}, and it travels through
 * {@link SubscriptionMatchDeliverer} — the Subscription's delivery channel, REST-hook headers and
 * retries, exactly like an event notification.
 *
 * <p>A handshake is sent once per Subscription per server process, when HAPI registers it as
 * active (after a restart, again). Before the handshake the topic registry is refreshed, so an
 * event written after the handshake arrives is matched against every topic stored so far.
 */
@Component
public class TopicHandshakeHeartbeat {

  private static final Logger log = LoggerFactory.getLogger(TopicHandshakeHeartbeat.class);

  private final FhirContext fhirContext;
  private final IInterceptorService interceptors;
  private final SubscriptionRegistry subscriptions;
  private final SubscriptionTopicPayloadBuilder payloads;
  private final SubscriptionMatchDeliverer deliverer;
  private final ISubscriptionTopicLoader topics;
  private final ScheduledExecutorService executor =
      Executors.newSingleThreadScheduledExecutor(r -> {
        Thread thread = new Thread(r, "topic-handshake-heartbeat");
        thread.setDaemon(true);
        return thread;
      });
  /** Subscription id → System.nanoTime() of the last notification delivered to it. */
  private final Map<String, Long> lastDelivered = new ConcurrentHashMap<>();
  private final Set<String> handshaken = ConcurrentHashMap.newKeySet();

  public TopicHandshakeHeartbeat(
      FhirContext fhirContext,
      IInterceptorService interceptors,
      SubscriptionRegistry subscriptions,
      @Lazy SubscriptionTopicPayloadBuilder payloads,
      SubscriptionMatchDeliverer deliverer,
      ISubscriptionTopicLoader topics) {
    this.fhirContext = fhirContext;
    this.interceptors = interceptors;
    this.subscriptions = subscriptions;
    this.payloads = payloads;
    this.deliverer = deliverer;
    this.topics = topics;
  }

  @PostConstruct
  public void start() {
    interceptors.registerInterceptor(this);
    executor.scheduleWithFixedDelay(this::heartbeats, 1, 1, TimeUnit.SECONDS);
  }

  @PreDestroy
  public void stop() {
    executor.shutdownNow();
    interceptors.unregisterInterceptor(this);
  }

  @Hook(Pointcut.SUBSCRIPTION_AFTER_ACTIVE_SUBSCRIPTION_REGISTERED)
  public void registered(CanonicalSubscription subscription) {
    if (!subscription.isTopicSubscription()) return;
    String id = subscription.getIdElement(fhirContext).getIdPart();
    if (handshaken.add(id)) executor.execute(() -> handshake(id));
  }

  @Hook(Pointcut.SUBSCRIPTION_AFTER_REST_HOOK_DELIVERY)
  public void delivered(CanonicalSubscription subscription, ResourceDeliveryMessage message) {
    if (subscription.isTopicSubscription())
      lastDelivered.put(subscription.getIdElement(fhirContext).getIdPart(), System.nanoTime());
  }

  private void handshake(String id) {
    try {
      topics.forceRefresh();
      ActiveSubscription active = subscriptions.get(id);
      if (active != null) send(active, "handshake");
    } catch (RuntimeException e) {
      log.warn("handshake for Subscription/{} failed: {}", id, e.toString());
    }
  }

  private void heartbeats() {
    long now = System.nanoTime();
    for (ActiveSubscription active : subscriptions.getAll()) {
      CanonicalSubscription subscription = active.getSubscription();
      if (!subscription.isTopicSubscription()) continue;
      Integer period = subscription.getTopicSubscription().getHeartbeatPeriod();
      String id = active.getId();
      if (period == null || period <= 0 || !handshaken.contains(id)) continue;
      Long last = lastDelivered.get(id);
      if (last != null && now - last < TimeUnit.SECONDS.toNanos(period)) continue;
      try {
        send(active, "heartbeat");
      } catch (RuntimeException e) {
        log.warn("heartbeat for Subscription/{} failed: {}", id, e.toString());
      }
    }
  }

  private void send(ActiveSubscription active, String type) {
    String topic = active.getSubscription().getTopicSubscription().getTopic();
    Bundle bundle = (Bundle) payloads.buildPayload(List.of(), active, topic, RestOperationTypeEnum.UPDATE);
    bundle.setId(UUID.randomUUID().toString());
    Parameters status = (Parameters) bundle.getEntryFirstRep().getResource();
    status.getParameter().removeIf(p -> "notification-event".equals(p.getName()));
    status.getParameter().stream()
        .filter(p -> "type".equals(p.getName()))
        .forEach(p -> p.setValue(new CodeType(type)));
    SubscriptionTopicDispatchRequest request = new SubscriptionTopicDispatchRequest(
        topic,
        List.of(),
        (filter, resource) -> InMemoryMatchResult.successfulMatch(),
        RestOperationTypeEnum.UPDATE,
        null,
        null,
        null);
    deliverer.deliverPayload(
        new SubscriptionDeliveryRequest(bundle, active, request), InMemoryMatchResult.successfulMatch());
    lastDelivered.put(active.getId(), System.nanoTime());
    log.info("{} queued for Subscription/{} (topic {})", type, active.getId(), topic);
  }
}
