using Microsoft.Extensions.DependencyInjection;

namespace SocketRunnerAspire.Cluster.Entities;

/// <summary>
/// Creates entity instances with <see cref="ActivatorUtilities"/>: constructor parameters come from the host's services,
/// and an <see cref="EntityContext"/> parameter gets the instance's context. The constructor is looked up once per
/// registration, not per activation.
/// </summary>
internal static class EntityActivator
{
    public static Func<EntityContext, TEntity> For<TEntity>() where TEntity : class
    {
        var takesContext = typeof(TEntity).GetConstructors()
            .Any(constructor => constructor.GetParameters().Any(parameter => parameter.ParameterType == typeof(EntityContext)));
        ObjectFactory<TEntity> factory;
        try
        {
            factory = ActivatorUtilities.CreateFactory<TEntity>(takesContext ? [typeof(EntityContext)] : []);
        }
        catch (InvalidOperationException ex)
        {
            throw new InvalidOperationException(
                $"Entity class {typeof(TEntity).Name} needs one public constructor whose parameters are services and, optionally, an EntityContext: {ex.Message}", ex);
        }

        return takesContext
            ? context => factory(context.Services, [context])
            : context => factory(context.Services, null);
    }
}
