package dev.ehranchor.fhirserver;

import ca.uhn.fhir.batch2.jobs.config.Batch2JobsConfig;
import ca.uhn.fhir.jpa.batch2.JpaBatch2Config;
import ca.uhn.fhir.jpa.config.HapiJpaConfig;
import ca.uhn.fhir.jpa.config.r4.JpaR4Config;
import ca.uhn.fhir.jpa.subscription.channel.config.SubscriptionChannelConfig;
import ca.uhn.fhir.jpa.subscription.match.config.SubscriptionProcessorConfig;
import ca.uhn.fhir.jpa.subscription.submit.config.SubscriptionSubmitterConfig;
import ca.uhn.fhir.jpa.topic.SubscriptionTopicConfig;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.web.context.WebServerInitializedEvent;
import org.springframework.context.ApplicationListener;
import org.springframework.context.annotation.Import;

/**
 * HAPI FHIR R4 JPA server for the ehr-anchor stack: the JPA configuration HAPI ships
 * ({@link JpaR4Config} + {@link HapiJpaConfig}), the subscription submitter, matcher and
 * in-memory channels (REST-hook delivery), topic-based subscriptions (R4 backport IG), and Batch2 (HAPI's job framework, which the JPA
 * configuration needs for reindexing and $export), wired the way hapi-fhir-jpaserver-starter does
 * it but without its optional modules (CR, MDM, IPS, CDS hooks, Elasticsearch, the web UI).
 */
@SpringBootApplication
@Import({
  JpaR4Config.class,
  HapiJpaConfig.class,
  JpaBatch2Config.class,
  Batch2JobsConfig.class,
  SubscriptionSubmitterConfig.class,
  SubscriptionProcessorConfig.class,
  SubscriptionChannelConfig.class,
  // Topic-based subscriptions (R4 backport: topics stored as Basic, matched and delivered by HAPI).
  SubscriptionTopicConfig.class,
})
public class FhirServerApplication {

  public static void main(String[] args) {
    SpringApplication app = new SpringApplication(FhirServerApplication.class);
    // The harness starts the server with --server.port=0 and reads the port the OS chose from
    // this line, so parallel test runs never collide.
    app.addListeners((ApplicationListener<WebServerInitializedEvent>) event ->
        System.out.println("ehr-fhir-server: listening on port " + event.getWebServer().getPort()));
    app.run(args);
  }
}
