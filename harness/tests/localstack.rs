//! The world on LocalStack (testcontainers), for machines with a Docker daemon: the seed's
//! scenario runs there too. Without a daemon the test says so and passes.
#![cfg(feature = "localstack")]

use harness::world::{Backend, World, WorldOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_world_boots_on_localstack() {
    let world = match World::boot(WorldOptions {
        backend: Backend::LocalStack,
        ..Default::default()
    })
    .await
    {
        Ok(world) => world,
        Err(harness::world::WorldError::Container(e)) => {
            eprintln!("skipping: LocalStack needs a Docker daemon, and none answered ({e})");
            return;
        }
        Err(e) => panic!("{e}"),
    };
    world.ftps.put_file("/in/a.data", b"on localstack\n").unwrap();
    world.put_secret("FLPIDS_ODS", &world.ftps.secret_json()).await.unwrap();
    world
        .put_item(
            &serde_json::json!({"jobId": "ls-1", "project": "P", "pipeline": "FLPIDS_ODS", "status": "TRIGGERED",
            "file": {"fileName": "a.data", "remotePath": "/in/a.data"}}),
        )
        .await
        .unwrap();
    world.settle().await;
    let items = world.items().await.unwrap();
    assert_eq!(items[0]["status"], "COMPLETED", "{items:?}");
}
